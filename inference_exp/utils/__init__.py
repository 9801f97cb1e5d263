"""Small helpers shared by every part of the library (no heavy imports here)."""
