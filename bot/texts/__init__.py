"""The messages the bot sends on its own, and the pieces its handlers share with them.

Below both the handlers and the senders (outbox, broadcasts, menus): everything here
imports only the domain, the services' read models and aiogram's types, never a handler.
"""
