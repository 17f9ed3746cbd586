"""The audience engine: criteria compiled to SQL, journey evaluation, memberships, estimates.

Empty until the engine lands; the package exists so type checks cover it from the start.
"""
