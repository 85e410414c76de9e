package io.koperator.standin;

import java.time.Instant;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * One line per event on stdout, where the test bed's node agent collects container logs.
 * (Kafka's client library logs through SLF4J to the same stream, at WARN and above.)
 */
public final class Log {
    private Log() {}

    public static void info(String message) {
        System.out.println(Instant.now() + " INFO " + message);
    }

    public static void error(String message, Throwable error) {
        System.out.println(Instant.now() + " ERROR " + message + ": " + describe(error));
    }

    /** The cause that matters: Kafka's futures wrap the real error in ExecutionException. */
    public static Throwable root(Throwable error) {
        Throwable current = error;
        while ((current instanceof ExecutionException || current instanceof CompletionException)
                && current.getCause() != null) {
            current = current.getCause();
        }
        return current;
    }

    /** "ClassName: message" of the root cause, as Cruise Control puts it in errorMessage. */
    public static String describe(Throwable error) {
        Throwable root = root(error);
        String message = root.getMessage();
        return root.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}
