"""The ground floor: what every room of Autoscope imports, importing none of them (docs/design.md)."""
