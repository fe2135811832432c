"""The backbone as data: the inventory, platforms, intent per feature and the templates."""
