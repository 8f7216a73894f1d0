"""Pipeline stages that read what earlier stages stored and add their own results."""
