"""Widgets and helpers for the screens where calls are planned, confirmed and followed."""
