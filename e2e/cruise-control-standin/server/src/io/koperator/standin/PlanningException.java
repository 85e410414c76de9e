package io.koperator.standin;

/** A request that cannot be planned (unknown broker, too few brokers for a replication factor...). */
public final class PlanningException extends Exception {
    private static final long serialVersionUID = 1L;

    public PlanningException(String message) {
        super(message);
    }
}
