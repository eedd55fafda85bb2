"""URL converters."""


class UsernameConverter:
    """Usernames as Django allows them (letters, digits and @ . + - _), at most 150 characters.

    Anything else never reaches a view or a query: it is simply not a member URL (404).
    """

    regex = r"[\w.@+-]{1,150}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
