package org.coedge.engine.onnx;

import static org.coedge.engine.onnx.ModelBuilder.scalarFloat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.Node;
import org.coedge.engine.testing.OrtReference;
import org.junit.jupiter.api.Test;

/** The optimizer's rewrite of PaddlePaddle's spelled-out HardSwish, {@code Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)}. */
class HardSwishRewriteTest
{
    private static final long[] DIMS = {1, 4, 5, 3};

    /** x -> Add(3) -> Clip(0, clipMax) -> Mul(x, .) -> Div(6) -> y, opset 13 (Clip bounds as constant inputs). */
    private static ModelBuilder spelledOut(final float clipMax, final boolean exposeSum)
    {
        final ModelBuilder m = new ModelBuilder(13).input("x", DIMS).output("y", DIMS)
            .constant("three", scalarFloat(3f)).constant("six", scalarFloat(6f))
            .constant("lo", scalarFloat(0f)).constant("hi", scalarFloat(clipMax))
            .node("Add", "add", List.of("x", "three"), List.of("a"))
            .node("Clip", "clip", List.of("a", "lo", "hi"), List.of("c"))
            .node("Mul", "mul", List.of("x", "c"), List.of("m"))
            .node("Div", "div", List.of("m", "six"), List.of("y"));
        if (exposeSum)
        {
            m.output("a", DIMS);
        }
        return m;
    }

    private static List<String> ops(final Graph g)
    {
        return g.nodes().stream().map(Node::opType).toList();
    }

    @Test
    void shouldRewriteSpelledOutHardSwishIntoOneNode()
    {
        final Graph optimized = GraphOptimizer.optimize(ShapeInference.fold(spelledOut(6f, false).load(), Map.of()));
        assertEquals(List.of("HardSwish"), ops(optimized));
        assertEquals(List.of("x"), optimized.nodes().get(0).inputs());
        assertEquals(List.of("y"), optimized.nodes().get(0).outputs());
    }

    @Test
    void shouldLeaveOtherClipBoundsAndSharedValuesAlone()
    {
        assertEquals(List.of("Add", "Clip", "Mul", "Div"),
            ops(GraphOptimizer.optimize(ShapeInference.fold(spelledOut(5f, false).load(), Map.of()))));
        assertEquals(List.of("Add", "Clip", "Mul", "Div"),
            ops(GraphOptimizer.optimize(ShapeInference.fold(spelledOut(6f, true).load(), Map.of()))));
    }

    @Test
    void shouldMatchOnnxRuntimeAfterRewrite()
    {
        final byte[] model = spelledOut(6f, false).bytes();
        final Random random = new Random(3);
        final float[] x = new float[60];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = random.nextFloat() * 12f - 6f;
        }
        final float[] expected = OrtReference.run(model, List.of(x), List.of(DIMS), 1).data(0);
        try (Session s = Model.load(model, "hardswish").newSession(SessionOptions.threads(1)))
        {
            s.setInput(0, x);
            s.run();
            final float[] actual = s.output(0);
            double maxRef = 0;
            double maxErr = 0;
            for (int i = 0; i < x.length; i++)
            {
                maxRef = Math.max(maxRef, Math.abs(expected[i]));
                maxErr = Math.max(maxErr, Math.abs(expected[i] - actual[i]));
            }
            assertTrue(maxErr / maxRef <= 1e-6, "relative error " + maxErr / maxRef);
        }
    }
}
