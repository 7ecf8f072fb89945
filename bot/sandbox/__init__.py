"""The sandbox: the real bot, unchanged, against an embedded Bot API emulator, with a web chat
where one person plays several families and liaisons (`python -m bot sandbox`).

Its data (a SQLite file and its own data key under ./data/sandbox/) never mixes with the real
database, and the families it seeds are fictional."""
