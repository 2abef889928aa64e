"""Multi-step interactions that end in a plan: choose, guard, confirm, apply, report."""
