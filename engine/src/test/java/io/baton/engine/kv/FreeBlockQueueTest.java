package io.baton.engine.kv;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FreeBlockQueueTest {

    @Test
    void startsInIdOrderAndSupportsMiddleRemoval() {
        FreeBlockQueue q = new FreeBlockQueue(5);
        assertThat(q.toArray()).containsExactly(0, 1, 2, 3, 4);
        assertThat(q.popFirst()).isZero();
        q.remove(2);
        q.remove(4); // the back
        assertThat(q.toArray()).containsExactly(1, 3);
        q.append(0);
        q.append(2);
        assertThat(q.toArray()).containsExactly(1, 3, 0, 2);
        assertThat(q.size()).isEqualTo(4);
        assertThat(q.contains(4)).isFalse();
        assertThat(q.contains(3)).isTrue();
    }

    @Test
    void rejectsMisuse() {
        FreeBlockQueue q = new FreeBlockQueue(2);
        assertThatThrownBy(() -> q.append(1)).isInstanceOf(IllegalStateException.class);
        q.remove(1);
        assertThatThrownBy(() -> q.remove(1)).isInstanceOf(IllegalStateException.class);
        q.popFirst();
        assertThatThrownBy(q::popFirst).isInstanceOf(IllegalStateException.class);
        assertThat(q.toArray()).isEmpty();
    }

    @Test
    void agreesWithAPlainListOnRandomOperations() {
        Random r = new Random(9);
        int n = 37;
        FreeBlockQueue q = new FreeBlockQueue(n);
        List<Integer> model = new ArrayList<>();
        for (int i = 0; i < n; i++) model.add(i);
        for (int step = 0; step < 20_000; step++) {
            int op = r.nextInt(3);
            if (op == 0 && !model.isEmpty()) {
                assertThat(q.popFirst()).isEqualTo(model.removeFirst());
            } else if (op == 1 && !model.isEmpty()) {
                Integer b = model.remove(r.nextInt(model.size()));
                q.remove(b);
            } else if (model.size() < n) {
                int b;
                do b = r.nextInt(n); while (model.contains(b));
                model.add(b);
                q.append(b);
            }
            assertThat(q.size()).isEqualTo(model.size());
            if (step % 97 == 0) assertThat(q.toArray()).containsExactly(model.stream().mapToInt(Integer::intValue).toArray());
        }
    }
}
