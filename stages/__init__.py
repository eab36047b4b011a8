"""Thin DVC entry points, one module per stage: read params and paths, call videostar, write."""
