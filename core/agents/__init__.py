"""Agents: memory classes, event handlers and the debug trail."""
from .agent import (HANDLERS, AgentContext, AgentRuntime, EntryRef, agent, agent_trail, on_event)
from .memory import (AssociativeMemory, TemporalMemory, WorkingMemory, agent_memory, close_memory,
                     open_memory, sync)
from .trail import Trail

__all__ = ["HANDLERS", "AgentContext", "AgentRuntime", "AssociativeMemory", "EntryRef",
           "TemporalMemory", "Trail", "WorkingMemory", "agent", "agent_memory", "agent_trail",
           "close_memory", "on_event", "open_memory", "sync"]
