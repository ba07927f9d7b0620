package io.baton.bench.router;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TokenStampTest {
    @Test
    void readsTheScriptedWorkersFormat() {
        assertThat(TokenStamp.parse("12:0:987654321;")).isEqualTo(new TokenStamp(12, 0, 987654321L));
        assertThat(TokenStamp.parse("0:99:-5;")).isEqualTo(new TokenStamp(0, 99, -5));
        assertThat(TokenStamp.parse("9223372036854775807:2147483647:9223372036854775807;"))
                .isEqualTo(new TokenStamp(Long.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE));
    }

    @Test
    void anythingElseIsNotAStamp() {
        for (String s : new String[]{null, "", ";", "1:2:3", "1:2:3;;", "1:2:3;4:5:6;", "1:2;", "1::3;", ":2:3;", "1:2:;",
                "a:2:3;", "1:b:3;", "1:2:c;", "1:2:3:4;", " 1:2:3;", "1:-2:3;", "-1:2:3;", "1:2:3; ", "1:99999999999:3;"}) {
            assertThat(TokenStamp.parse(s)).as("[%s]", s).isNull();
        }
    }
}
