"""The journey canvas: a scene that mirrors one JourneyGraph, its painted items, the view.

``scene.JourneyScene`` listens to the graph and keeps id -> item maps;
``items`` paints cards from what the scene reads off the domain; ``view.JourneyView``
zooms, pans and fits; ``header.CanvasHeader`` is the bar above it.
"""
