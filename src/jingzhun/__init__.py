"""Jingzhun (精准): registry for targeted poverty alleviation and return-to-poverty monitoring."""

__version__ = "0.1.0"
