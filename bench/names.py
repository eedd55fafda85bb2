"""Display names for the benchmark's members: German first and last names (umlauts and ß
included) with the names of people whose families came from elsewhere, as a German community
has them, and a few of the shapes members give their display name.

Last names are drawn with falling weights, most frequent first, so that a search for a
common name ("müller") finds many members and one for a rare name finds a few, as on a real
site. `RARE_NAME` is given to exactly `RARE_NAME_MEMBERS` members by `bench/seed.py`; no
drawn name contains its search fragment (`tests/bench/test_seed.py` checks it).
"""

from __future__ import annotations

import random
from itertools import accumulate

FIRST_NAMES = (
    # women
    "Anna", "Andrea", "Anja", "Anke", "Anneliese", "Ayşe", "Barbara", "Birgit", "Brigitte",
    "Carina", "Christa", "Christiane", "Claudia", "Clara", "Dagmar", "Doris", "Elif", "Elke",
    "Emily", "Emma", "Fatma", "Franziska", "Gabriele", "Gisela", "Greta", "Gül", "Hannah",
    "Heike", "Helga", "Ines", "Ingrid", "Jana", "Johanna", "Jördis", "Julia", "Karin", "Käthe",
    "Katharina", "Katrin", "Kerstin", "Kira", "Lea", "Lena", "Lisa", "Luise", "Maja", "Mareike",
    "Maria", "Marie", "Marlene", "Martina", "Merve", "Mia", "Monika", "Nadine", "Natalia",
    "Nicole", "Olga", "Özlem", "Petra", "Renate", "Sabine", "Sandra", "Sarah", "Silke",
    "Sophie", "Stefanie", "Susanne", "Tanja", "Ulrike", "Ursula", "Ute", "Yvonne", "Zeynep",
    # men
    "Ahmet", "Alexander", "Ali", "Andreas", "Ben", "Bernd", "Björn", "Can", "Christian",
    "Daniel", "David", "Dennis", "Detlef", "Dieter", "Dimitrios", "Elias", "Emre", "Felix",
    "Finn", "Florian", "Frank", "Fritz", "Günther", "Hans", "Heinz", "Henrik", "Holger",
    "Horst", "Jan", "Jannik", "Jens", "Jonas", "Jörg", "Jürgen", "Karl", "Kevin", "Klaus",
    "Krzysztof", "Lennart", "Leon", "Luca", "Lukas", "Malte", "Manfred", "Marcel", "Marco",
    "Markus", "Matthias", "Maximilian", "Mehmet", "Michael", "Moritz", "Mustafa", "Niklas",
    "Noah", "Oliver", "Patrick", "Paul", "Peter", "Piotr", "Ralf", "Rüdiger", "Sebastian",
    "Sören", "Stefan", "Sven", "Thomas", "Till", "Timo", "Tobias", "Uwe", "Werner", "Wolfgang",
)  # fmt: skip
# Most frequent first (roughly as in Germany); the weights fall with the position.
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
    "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange",
    "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier",
    "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters",
    "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich",
    "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann",
    "Franke", "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin",
    "Schumacher", "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel",
    "Heinrich", "Brandt", "Haas", "Schreiber", "Graf", "Schulte", "Dietrich", "Ziegler",
    "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt", "Sauer",
    "Arnold", "Wolff", "Pfeiffer", "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Özdemir",
    "Öztürk", "Aydın", "Nowak", "Kowalski", "Wiśniewski", "Papadopoulos", "Rossi", "Nguyen",
    "Popović", "Ivanova", "Gärtner", "Löffler", "Blümel", "Fröhlich", "Großmann", "Nußbaum",
)  # fmt: skip
LAST_NAME_WEIGHTS = tuple(1 / (position + 10) for position in range(len(LAST_NAMES)))
_CUMULATIVE = tuple(accumulate(LAST_NAME_WEIGHTS))

# A frequent name's search fragment (the first of LAST_NAMES) and a rare one's.
COMMON_NAME_SEARCH = "müller"
RARE_NAME = "Xaver Quäntzsch"
RARE_NAME_SEARCH = "quäntzsch"
RARE_NAME_MEMBERS = 5


def last_name(rng: random.Random) -> str:
    return rng.choices(LAST_NAMES, cum_weights=_CUMULATIVE)[0]


def display_name(rng: random.Random) -> str:
    """A display name in one of the shapes members choose: mostly the full name, sometimes
    shortened, double-barrelled or a nickname with a number."""
    first, last, shape = rng.choice(FIRST_NAMES), last_name(rng), rng.random()
    if shape < 0.74:
        return f"{first} {last}"
    if shape < 0.84:
        return f"{first} {last[0]}."
    if shape < 0.90:
        return f"{first} {last}-{last_name(rng)}"
    if shape < 0.96:
        return f"{first.lower()}{rng.randint(1, 99)}"
    return f"{last}_{first[0]}"
