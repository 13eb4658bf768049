"""Nova JSON views, per microversion."""
