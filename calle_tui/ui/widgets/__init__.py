"""Widgets shared by several screens (header line, yes/no question)."""
