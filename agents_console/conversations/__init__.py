"""Live takeover: conversations the bot handed off, taken, answered and handed back by agents."""
