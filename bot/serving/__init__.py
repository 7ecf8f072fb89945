"""HTTP serving: webhook mode (bot.serving.webhook) and the health and metrics endpoints
(bot.serving.health), on aiohttp."""
