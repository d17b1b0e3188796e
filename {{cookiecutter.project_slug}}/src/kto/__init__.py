"""Build a KTO preference dataset: prompts -> generations -> ratings -> KTO/DPO data."""
