"""Texts of Django's admin templates that Django 6.1's German catalogue lacks, or says "Sie" in.

Without them the staff would read "Filter by Zeitpunkt" or "Search Zugriffsprotokoll" in an
otherwise German admin. The project's catalogue comes first in LOCALE_PATHS, so it can
translate them; `makemessages` keeps only msgids it finds in the project's sources, hence
this list. Nothing imports it. Drop an entry once Django's own catalogue says it right.
"""

from django.utils.translation import gettext_noop

ADMIN_TEXTS = [
    gettext_noop("Filter by %(field_name)s"),  # admin/date_hierarchy.html
    gettext_noop("Search %(name)s"),  # admin/search_form.html, a screen-reader heading
    gettext_noop("Pagination %(name)s"),  # admin/pagination.html, a screen-reader heading
    gettext_noop("Pagination %(name)s entries"),  # admin/object_history.html, the same
    gettext_noop("Run"),  # admin/actions.html
    # Translated by Django as "%(app)s-Administration", which a name with "&" cannot carry.
    gettext_noop("%(app)s administration"),
    # Translated by Django with "Sie"; a member who opens /admin/ reads it, in "du" here.
    gettext_noop(
        "You are authenticated as %(username)s, but are not authorized to access this page. "
        "Would you like to login to a different account?"
    ),
]
