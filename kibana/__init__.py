"""Kibana saved objects of the News dashboard: generator and import (docs/deployment.md)."""
