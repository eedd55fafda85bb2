"""Database backends of the site: Django's own, with what the site needs added."""
