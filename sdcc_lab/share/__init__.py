"""The share service: signs, stores and opens notebook share links (hub-managed)."""
