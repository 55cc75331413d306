"""The home page's "needs your attention" cards.

Core cannot import the apps above it, so each app registers a provider at start-up
(``AppConfig.ready``). A provider takes the request and returns a card, or None when it has
nothing to show this person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest


@dataclass
class AttentionItem:
    text: str
    url: str = ""
    meta: str = ""


@dataclass
class AttentionCard:
    title: str
    items: list[AttentionItem] = field(default_factory=list)
    empty_text: str = "Nothing needs you here."
    link_url: str = ""
    link_text: str = ""
    order: int = 100


Provider = Callable[[HttpRequest], AttentionCard | None]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def cards_for(request: HttpRequest) -> list[AttentionCard]:
    cards = [card for provider in _providers if (card := provider(request)) is not None]
    return sorted(cards, key=lambda card: card.order)
