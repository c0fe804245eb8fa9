"""The sponsored walk: editions, teams and walkers; exact totals; public team pages and a JSON feed."""
