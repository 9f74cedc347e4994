"""Preset run configs (YAML), shipped with the package so `corpus run c4` works from anywhere."""
