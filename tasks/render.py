"""Nornir task: a host's whole intended config, rendered from the inventory and the
services it carries (onramp.flow.render). Compute and allocate first, render last."""

from __future__ import annotations

from nornir.core.task import Result, Task

from onramp.network.inventory import Backbone
from onramp.network.templates import RouterServices, router_config


def render_config(task: Task, backbone: Backbone, services: dict[str, RouterServices]) -> Result:
    """The candidate for this host (replace semantics: the whole config)."""
    name = task.host.name
    return Result(host=task.host, result=router_config(backbone, name, services[name]))
