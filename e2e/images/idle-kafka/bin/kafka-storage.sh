#!/bin/sh
# Benchmark stand-in for Kafka's storage tool: there is nothing to format.
exit 0
