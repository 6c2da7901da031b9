"""Scene recipes for the builtin renderer: reusable props and one recipe per catalog scene."""
