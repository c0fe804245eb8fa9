"""Crowdfunding: one campaign toward its goal, exact and live, with a thermometer and a progress chart."""
