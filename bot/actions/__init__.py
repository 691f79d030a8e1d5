"""Rasa custom actions; `python -m rasa_sdk --actions bot.actions` serves them."""

from bot.actions.actions import *  # noqa: F403 - rasa_sdk discovers Action subclasses here
