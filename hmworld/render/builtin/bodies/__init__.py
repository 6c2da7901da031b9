"""Articulated subject bodies for the builtin renderer: gait math, biped, quadruped, bird."""
