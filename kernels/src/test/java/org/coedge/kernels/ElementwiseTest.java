package org.coedge.kernels;

import static org.coedge.kernels.OpsTestSupport.assertRows;
import static org.coedge.kernels.OpsTestSupport.emptyWindow;
import static org.coedge.kernels.OpsTestSupport.outputWindow;
import static org.coedge.kernels.OpsTestSupport.random;
import static org.coedge.kernels.OpsTestSupport.rowRange;
import static org.coedge.kernels.OpsTestSupport.window;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class ElementwiseTest
{
    private static final Activation[] ACTIVATIONS = {
        Activation.NONE, Activation.RELU, Activation.clip(-0.25f, 0.5f), Activation.of(Activation.Kind.SIGMOID, 0, 0)
    };

    @Test
    void shouldMatchReferenceForEveryOpAndBroadcastPattern()
    {
        final SplittableRandom random = new SplittableRandom(61);
        for (final Elementwise.Op op : Elementwise.Op.values())
        {
            for (int pattern = 0; pattern < 8; pattern++)
            {
                for (int trial = 0; trial < 6; trial++)
                {
                    final int h = 1 + random.nextInt(7);
                    final int w = 1 + random.nextInt(7);
                    final int c = 1 + random.nextInt(11);
                    final int[][] shapes = shapes(pattern, h, w, c);
                    final Activation activation = ACTIVATIONS[random.nextInt(ACTIVATIONS.length)];
                    check(random, new Elementwise(op, activation), shapes[0], shapes[1], h, w, c, 0);
                }
            }
        }
    }

    @Test
    void shouldComputeInPlaceIntoEitherOperand()
    {
        final SplittableRandom random = new SplittableRandom(62);
        for (final Elementwise.Op op : Elementwise.Op.values())
        {
            for (int trial = 0; trial < 12; trial++)
            {
                final int h = 1 + random.nextInt(7);
                final int w = 1 + random.nextInt(7);
                final int c = 1 + random.nextInt(11);
                final int pattern = random.nextInt(3);
                final int[][] shapes = shapes(pattern, h, w, c);
                final int alias = pattern == 0 ? 1 + random.nextInt(2) : pattern == 1 ? 1 : 2;
                check(random, new Elementwise(op, Activation.RELU), shapes[0], shapes[1], h, w, c, alias);
            }
        }
    }

    @Test
    void shouldAddOperandAAfterTheProductInOnePass()
    {
        final SplittableRandom random = new SplittableRandom(64);
        for (int trial = 0; trial < 30; trial++)
        {
            final int h = 1 + random.nextInt(7);
            final int w = 1 + random.nextInt(7);
            final int c = 1 + random.nextInt(11);
            // a the map, b the same map, a per-channel scale (squeeze and excitation) or a scalar
            final int[][] shapes = shapes(new int[]{0, 1, 3}[random.nextInt(3)], h, w, c);
            final Activation activation = ACTIVATIONS[random.nextInt(ACTIVATIONS.length)];
            final Elementwise kernel = new Elementwise(Elementwise.Op.MUL, activation, true);
            final float[] a = random(random, h * w * c);
            final float[] b = random(random, shapes[1][0] * shapes[1][1] * shapes[1][2]);
            final int[] range = rowRange(random, h);
            final MapView av = operand(random, a, shapes[0], range);
            final MapView bv = operand(random, b, shapes[1], range);
            final boolean inPlace = random.nextBoolean();
            final MapView out = inPlace ? av : outputWindow(random, h, w, c, range[0], range[1]);
            kernel.forward(av, bv, out, range[0], range[1]);
            // the Mul, then the Add of a to its result, then the activation: as the three operators compute it
            final float[] product = OpsReference.elementwise(Elementwise.Op.MUL, a, shapes[0], b, shapes[1],
                Activation.NONE);
            for (int i = 0; i < product.length; i++)
            {
                product[i] += a[i];
            }
            assertRows(kernel + " " + shape(shapes[1]) + (inPlace ? " in place" : ""),
                OpsReference.activation(product, activation), out, range[0], range[1]);
        }
        assertThrows(IllegalArgumentException.class,
            () -> new Elementwise(Elementwise.Op.ADD, Activation.NONE, true));
        // A must be the map: a broadcast A has no value for every output element to add
        final MapView vector = window(random, random(random, 3), 1, 1, 3, 0, 1);
        final MapView map = window(random, random(random, 5 * 4 * 3), 5, 4, 3, 0, 5);
        assertThrows(IllegalArgumentException.class, () -> new Elementwise(Elementwise.Op.MUL, Activation.NONE, true)
            .forward(vector, map, emptyWindow(random, 5, 4, 3, 0, 5), 0, 5));
    }

    @Test
    void shouldRejectBadBroadcastMissingRowsAndAliasOfBroadcastOperand()
    {
        final SplittableRandom random = new SplittableRandom(63);
        final Elementwise add = Elementwise.of(Elementwise.Op.ADD);
        final MapView a = window(random, random(random, 5 * 4 * 3), 5, 4, 3, 1, 4);
        final MapView out = emptyWindow(random, 5, 4, 3, 0, 5);
        final MapView twoChannels = window(random, random(random, 5 * 4 * 2), 5, 4, 2, 0, 5);
        assertThrows(IllegalArgumentException.class, () -> add.forward(a, twoChannels, out, 1, 4));
        final MapView vector = window(random, random(random, 3), 1, 1, 3, 0, 1);
        assertThrows(IllegalArgumentException.class,
            () -> add.forward(vector, vector, emptyWindow(random, 5, 4, 3, 0, 5), 1, 4));
        assertThrows(IllegalArgumentException.class, () -> add.forward(a, vector, out, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> add.forward(a, vector, out, 1, 5));
        add.forward(a, vector, out, 1, 4);
        final MapView wide = emptyWindow(random, 5, 4, 3, 0, 5);
        final MapView rowOperand = new MapView().wrap(wide.region(), wide.offset(), 1, 4, 3, 0, 1);
        assertThrows(IllegalArgumentException.class, () -> add.forward(a, rowOperand, wide, 1, 4));
        final MapView emptyVector = new MapView().wrap(vector.region(), 0, 1, 1, 3, 0, 0);
        assertThrows(IllegalArgumentException.class, () -> add.forward(a, emptyVector, out, 1, 4));
    }

    /**
     * Runs one case on windows holding only the needed rows; {@code alias} 1 or 2 writes into operand a or b.
     */
    private static void check(
        final SplittableRandom random, final Elementwise kernel, final int[] aShape, final int[] bShape,
        final int h, final int w, final int c, final int alias)
    {
        final float[] a = random(random, aShape[0] * aShape[1] * aShape[2]);
        final float[] b = random(random, bShape[0] * bShape[1] * bShape[2]);
        for (int i = 0; i < b.length; i++)
        {
            b[i] = Math.copySign(0.5f + Math.abs(b[i]), b[i]);
        }
        final int[] range = rowRange(random, h);
        final MapView av = operand(random, a, aShape, range);
        final MapView bv = operand(random, b, bShape, range);
        final MapView out = alias == 1 ? av : alias == 2 ? bv : outputWindow(random, h, w, c, range[0], range[1]);
        kernel.forward(av, bv, out, range[0], range[1]);
        final float[] expected = OpsReference.elementwise(kernel.op(), a, aShape, b, bShape, kernel.activation());
        assertRows(kernel + " " + shape(aShape) + " and " + shape(bShape) + (alias != 0 ? " in place " + alias : ""),
            expected, out, range[0], range[1]);
    }

    private static MapView operand(
        final SplittableRandom random, final float[] values, final int[] shape, final int[] range)
    {
        return shape[0] == 1 ?
            window(random, values, 1, shape[1], shape[2], 0, 1) :
            window(random, values, shape[0], shape[1], shape[2], range[0], range[1]);
    }

    private static int[][] shapes(final int pattern, final int h, final int w, final int c)
    {
        final int[] full = {h, w, c};
        switch (pattern)
        {
            case 0:
                return new int[][]{full, full};
            case 1:
                return new int[][]{full, {1, 1, c}};
            case 2:
                return new int[][]{{1, 1, c}, full};
            case 3:
                return new int[][]{full, {1, 1, 1}};
            case 4:
                return new int[][]{{1, 1, 1}, full};
            case 5:
                return new int[][]{{h, w, 1}, {1, 1, c}};
            case 6:
                return new int[][]{{1, w, c}, {h, 1, 1}};
            default:
                return new int[][]{full, {h, 1, c}};
        }
    }

    private static String shape(final int[] shape)
    {
        return shape[0] + "x" + shape[1] + "x" + shape[2];
    }
}
