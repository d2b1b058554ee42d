"""Databases the server can answer from: schema models, backends, safety, and the registry."""
