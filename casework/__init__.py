"""Safe Passage casework: the Django project package."""
