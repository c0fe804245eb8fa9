"""The pages' words in Dutch (default), French and English; amounts and dates are Babel's, per locale."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from vwfund.money import Money
from vwfund.timeutil import zone

WORDS: dict[str, dict[str, str]] = {
    "nl": {
        "skip": "Naar de inhoud", "leaderboard": "Klassement van de teams", "top_walkers": "Beste wandelaars",
        "raised": "Opgehaald", "goal": "Doel", "of_goal": "van het doel", "sponsors": "Sponsors",
        "walkers": "Wandelaars", "teams": "Teams", "team": "Team", "company": "Bedrijf", "captain": "Kapitein",
        "rank": "Plaats", "donate": "Sponsor nu", "anonymous": "anoniem", "matched": "Verdubbeld door partners",
        "pending": "Nog in behandeling (niet meegeteld)", "gross": "Bruto", "fees": "Kosten", "net": "Netto",
        "refunded": "Terugbetaald", "details": "Details van het bedrag", "messages": "Sponsors en hun berichten",
        "no_sponsors": "Nog geen sponsors: wees de eerste!", "back": "Terug naar het overzicht",
        "updated": "Bijgewerkt op", "walk_on": "Wandeling op", "for_walker": "voor", "progress": "Voortgang",
        "walker_of": "wandelt mee in team", "solo": "wandelt zonder team", "no_walkers": "Nog geen wandelaars.",
        "name": "Naam", "no_goal": "geen doel", "feed": "Totalen als JSON",
    },
    "fr": {
        "skip": "Aller au contenu", "leaderboard": "Classement des équipes", "top_walkers": "Meilleurs marcheurs",
        "raised": "Récolté", "goal": "Objectif", "of_goal": "de l’objectif", "sponsors": "Parrains",
        "walkers": "Marcheurs", "teams": "Équipes", "team": "Équipe", "company": "Entreprise",
        "captain": "Capitaine", "rank": "Rang", "donate": "Parrainer", "anonymous": "anonyme",
        "matched": "Doublé par des partenaires", "pending": "En cours de traitement (non compté)", "gross": "Brut",
        "fees": "Frais", "net": "Net", "refunded": "Remboursé", "details": "Détail du montant",
        "messages": "Parrains et leurs messages", "no_sponsors": "Pas encore de parrains : soyez le premier !",
        "back": "Retour à l’aperçu", "updated": "Mis à jour le", "walk_on": "Marche le", "for_walker": "pour",
        "progress": "Progression", "walker_of": "marche dans l’équipe", "solo": "marche sans équipe",
        "no_walkers": "Pas encore de marcheurs.", "name": "Nom", "no_goal": "pas d’objectif",
        "feed": "Totaux en JSON",
    },
    "en": {
        "skip": "Skip to content", "leaderboard": "Team leaderboard", "top_walkers": "Top walkers",
        "raised": "Raised", "goal": "Goal", "of_goal": "of the goal", "sponsors": "Sponsors", "walkers": "Walkers",
        "teams": "Teams", "team": "Team", "company": "Company", "captain": "Captain", "rank": "Rank",
        "donate": "Sponsor now", "anonymous": "anonymous", "matched": "Matched by partners",
        "pending": "Still pending (not counted)", "gross": "Gross", "fees": "Fees", "net": "Net",
        "refunded": "Refunded", "details": "Amount details", "messages": "Sponsors and their messages",
        "no_sponsors": "No sponsors yet: be the first!", "back": "Back to the overview", "updated": "Updated",
        "walk_on": "Walk on", "for_walker": "for", "progress": "Progress", "walker_of": "walks in team",
        "solo": "walks without a team", "no_walkers": "No walkers yet.", "name": "Name", "no_goal": "no goal",
        "feed": "Totals as JSON",
    },
}


def language(locale: str) -> str:
    """The pages' language for a locale (nl_BE -> nl); unknown languages fall back to Dutch."""
    lang = (locale or "nl").replace("-", "_").split("_")[0].lower()
    return lang if lang in WORDS else "nl"


def words(locale: str) -> dict[str, str]:
    """The words for a locale."""
    return WORDS[language(locale)]


@lru_cache(maxsize=65536)
def _money(minor: int, currency: str, locale: str) -> str:
    return Money(minor, currency).format(locale)


def money(value: Money, locale: str) -> str:
    """An amount as the locale writes it (cached: pages repeat the same amounts often)."""
    return _money(value.minor, value.currency, locale)


def long_date(value: date, locale: str) -> str:
    """A date as the locale writes it in full (nl: 12 oktober 2024)."""
    return format_date(value, format="long", locale=locale)


@lru_cache(maxsize=4096)
def _medium(value: date, locale: str) -> str:
    return format_date(value, format="medium", locale=locale)


def short_date(value: date, locale: str) -> str:
    """A date as the locale writes it briefly (cached)."""
    return _medium(value, locale)


def date_time(value: datetime, locale: str, tz: str) -> str:
    """An instant in the organisation's time zone, as the locale writes it."""
    return format_datetime(value, format="medium", tzinfo=zone(tz), locale=locale)


@lru_cache(maxsize=8192)
def percent(value: Decimal, locale: str) -> str:
    """A percentage (given as 19.5 for 19.5 %) as the locale writes it (nl: 19,5%; fr: 19,5 %)."""
    return format_percent(value / 100, format="#,##0.#%", locale=locale)


def number(value: int, locale: str) -> str:
    """A whole number as the locale writes it (nl: 17.739; fr: 17 739; en: 17,739)."""
    return format_decimal(value, locale=locale)
