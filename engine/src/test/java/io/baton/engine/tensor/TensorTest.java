package io.baton.engine.tensor;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TensorTest {

    @Test
    void shapeAndWholeTensorAsFloats() {
        byte[] b = new byte[2 * 3 * 4];
        for (int i = 0; i < 6; i++) Blocks.putFloat(b, 4 * i, i * 0.5f);
        Tensor t = new Tensor("t", GgmlType.F32, new long[] {3, 2}, Blocks.segment(b));
        assertThat(t.cols()).isEqualTo(3);
        assertThat(t.rows()).isEqualTo(2);
        assertThat(t.rowBytes()).isEqualTo(12);
        assertThat(t.toFloats()).containsExactly(0f, 0.5f, 1f, 1.5f, 2f, 2.5f);
        Tensor v = new Tensor("v", GgmlType.F32, new long[] {6}, Blocks.segment(b));
        assertThat(v.rows()).isEqualTo(1);
        Tensor cube = new Tensor("c", GgmlType.F32, new long[] {1, 2, 3}, Blocks.segment(b));
        assertThat(cube.rows()).isEqualTo(6);
    }

    @Test
    void rejectsInconsistentShapes() {
        assertThatThrownBy(() -> new Tensor("short", GgmlType.Q8_0, new long[] {32, 2}, Blocks.segment(new byte[67])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("short").hasMessageContaining("68");
        assertThatThrownBy(() -> new Tensor("partial", GgmlType.Q4_K, new long[] {128, 4}, Blocks.segment(new byte[288])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("whole Q4_K blocks");
        assertThatThrownBy(() -> new Tensor("zero", GgmlType.F32, new long[] {0}, Blocks.segment(new byte[4])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive");
        assertThatThrownBy(() -> new Tensor("five", GgmlType.F32, new long[] {1, 1, 1, 1, 1}, Blocks.segment(new byte[4])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 4");
    }
}
