"""Governance: org-wide run policies judged over the run store the quota refresh keeps."""
