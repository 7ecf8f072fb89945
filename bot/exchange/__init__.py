"""Lists exchanged with the verification bodies: pure formats, no database, no bot.

- `records`: reading a body's list of located persons (CSV, or ZIP with the CSV and photos);
- `export`: the requests as CSV for a body (only what it needs to trace);
- `pfif`: the requests as PFIF 1.4 XML, with the schema written from the specification.

Problems are returned as codes (enums); the bot words them in uk/ru/en. Nothing here logs.
"""
