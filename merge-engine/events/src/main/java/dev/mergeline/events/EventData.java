package dev.mergeline.events;

/** The payload ({@code data}) of one of the contract's CloudEvents; see {@link EventType}. */
public sealed interface EventData
        permits MergeRequested, MergedModelReady, AdapterRejected, MergeFailed, MergeProgress, MessageMalformed {}
