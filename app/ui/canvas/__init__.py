"""The journey canvas: a scene that mirrors one JourneyGraph, its painted items, the view.

``scene.JourneyScene`` listens to the graph, keeps id -> item maps and turns
gestures (drags, drops) into core commands; ``items`` paints cards from what the
scene reads off the domain; ``edits`` says what a gesture means as a command;
``view.JourneyView`` zooms, pans and fits; ``minimap`` and ``export`` show the
whole journey small or as a file; ``header.CanvasHeader`` is the bar above it.
"""
