package io.koperator.standin;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The user tasks this process knows, in memory only: a restarted Cruise Control forgets them
 * too (it keeps finished tasks only for a while). Beyond {@link #MAX_TASKS}, the oldest finished
 * tasks are dropped.
 */
public final class UserTasks {
    static final int MAX_TASKS = 1000;

    private final Map<String, UserTask> tasks = new LinkedHashMap<>();

    public synchronized UserTask add(UserTask task) {
        tasks.put(task.id(), task);
        Iterator<UserTask> oldest = tasks.values().iterator();
        while (tasks.size() > MAX_TASKS && oldest.hasNext()) {
            if (oldest.next().finished()) {
                oldest.remove();
            }
        }
        return task;
    }

    public synchronized Optional<UserTask> get(String id) {
        return Optional.ofNullable(tasks.get(id));
    }

    /** Tasks in creation order, only `ids` when that is not empty. */
    public synchronized List<UserTask> list(Set<String> ids) {
        List<UserTask> result = new ArrayList<>();
        for (UserTask task : tasks.values()) {
            if (ids.isEmpty() || ids.contains(task.id())) {
                result.add(task);
            }
        }
        return result;
    }
}
