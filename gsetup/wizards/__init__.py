"""The installers' wizards: their questions, answer files and how answers are collected."""
