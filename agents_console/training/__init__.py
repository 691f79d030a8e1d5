"""Intent training: the bot's examples, the review queue, retraining, reports, publishing."""
