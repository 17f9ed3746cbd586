"""Forwarding audiences to partners: connectors, their registry, secrets, the dispatcher."""
