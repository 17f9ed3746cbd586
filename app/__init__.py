"""Journey Studio: build customer journeys on a canvas, on your own machine."""

__version__ = "0.1.0"
