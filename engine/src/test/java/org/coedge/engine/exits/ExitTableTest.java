package org.coedge.engine.exits;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.coedge.engine.api.Model;
import org.coedge.engine.graph.ModelException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExitTableTest
{
    @TempDir
    Path dir;

    @Test
    void shouldReadWhatItWrites() throws Exception
    {
        final ExitTable table = new ExitTable(ExitTable.TRAINED, "t10k", new double[] {1 / 255.0, 0.286, 0.353},
            List.of(ExitTable.Exit.measured(0, "a", 812, 1000), ExitTable.Exit.measured(1, "b", 901, 1000)));
        final Path file = dir.resolve("m.exits.json");
        table.write(file);
        final ExitTable back = ExitTable.read(file);
        assertEquals(ExitTable.TRAINED, back.weights());
        assertEquals("t10k", back.data());
        assertArrayEquals(new double[] {1 / 255.0, 0.286, 0.353}, back.input());
        assertEquals(2, back.size());
        assertEquals("b", back.exit(1).output());
        assertEquals(0.901, back.exit(1).top1(), 1e-12);
        assertEquals(901, back.exit(1).correct());
        assertEquals(1000, back.exit(1).samples());
        assertArrayEquals(new int[] {2, 0}, back.outputIndices(List.of("b", "x", "a")));
    }

    @Test
    void shouldKeepAnUnmeasuredAccuracyNull() throws Exception
    {
        final ExitTable table = new ExitTable(ExitTable.RANDOM, null, null,
            List.of(new ExitTable.Exit(0, "exit0", null, 0, 0)));
        final ExitTable back = ExitTable.read(write("m.exits.json", table.toJson()));
        assertNull(back.exit(0).top1());
        assertNull(back.input());
        assertEquals(ExitTable.RANDOM, back.weights());
    }

    @Test
    void shouldNameTheSidecarAfterTheModel()
    {
        assertEquals(dir.resolve("net.exits.json"), ExitTable.sidecarOf(dir.resolve("net.onnx")));
    }

    @Test
    void shouldRejectBadSidecarsInOneLine() throws Exception
    {
        final String exit0 = "{\"index\": 0, \"output\": \"exit0\", \"top1\": 0.5, \"samples\": 10}";
        final String[][] cases = {
            {"not json {", "exit sidecar"},
            {"[1, 2]", "not a JSON object"},
            {"{\"format\": \"other/2\", \"weights\": \"trained\", \"exits\": [" + exit0 + "]}", "\"format\""},
            {"{\"format\": \"coedge-exits/1\", \"weights\": \"guessed\", \"exits\": [" + exit0 + "]}", "\"weights\""},
            {"{\"format\": \"coedge-exits/1\", \"weights\": \"trained\", \"exits\": []}", "no exits"},
            {"{\"format\": \"coedge-exits/1\", \"weights\": \"trained\"}", "\"exits\" must be an array"},
            {"{\"format\": \"coedge-exits/1\", \"weights\": \"trained\", \"exits\": [" +
                exit0.replace("\"index\": 0", "\"index\": 1") + "]}", "numbered 1"},
            {"{\"format\": \"coedge-exits/1\", \"weights\": \"trained\", \"exits\": [" +
                exit0.replace("0.5", "1.5") + "]}", "[0, 1]"},
            {"{\"format\": \"coedge-exits/1\", \"weights\": \"trained\", \"exits\": [" +
                exit0.replace("\"output\": \"exit0\", ", "") + "]}", "\"output\" is missing"},
            {"{\"format\": \"coedge-exits/1\", \"weights\": \"trained\", \"exits\": [" +
                exit0.replace("10}", "-3}") + "]}", "whole number"},
            {"{\"format\": \"coedge-exits/1\", \"weights\": \"trained\", \"exits\": [" + exit0 + ", " +
                exit0.replace("\"index\": 0", "\"index\": 1") + "]}", "both name output 'exit0'"},
        };
        for (final String[] c : cases)
        {
            final Path file = write("bad.exits.json", c[0]);
            final ModelException ex = assertThrows(ModelException.class, () -> ExitTable.read(file), c[0]);
            assertTrue(ex.getMessage().contains(c[1]), c[0] + " -> " + ex.getMessage());
            assertTrue(ex.getMessage().contains(file.toString()), ex.getMessage());
            assertFalse(ex.getMessage().contains("\n"), ex.getMessage());
        }
        final ModelException missing = assertThrows(ModelException.class,
            () -> ExitTable.forModel(dir.resolve("none.onnx")));
        assertTrue(missing.getMessage().contains("none.exits.json"), missing.getMessage());
    }

    @Test
    void shouldRejectAnExitTheModelDoesNotHave() throws Exception
    {
        final ExitTable table = new ExitTable(ExitTable.TRAINED, null, null,
            List.of(new ExitTable.Exit(0, "exit0", null, 0, 0), new ExitTable.Exit(1, "side", null, 0, 0)));
        final Model model = Model.load(FashionSlice.model());
        final ModelException ex = assertThrows(ModelException.class, () -> table.upTo(model, 0));
        assertTrue(ex.getMessage().contains("exit 1 names output 'side'"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ExitTable.forModel(FashionSlice.model()).upTo(model, 3));
    }

    @Test
    void shouldShipTheTrainedModelWithItsMeasuredSidecar()
    {
        final ExitTable table = ExitTable.forModel(FashionSlice.model());
        final Model model = Model.load(FashionSlice.model());
        assertArrayEquals(new int[] {0, 1, 2}, table.outputIndices(model.outputNames()));
        assertEquals(ExitTable.TRAINED, table.weights());
        for (final ExitTable.Exit e : table.exits())
        {
            assertEquals(10000, e.samples(), e.toString());
            assertTrue(e.top1() > 0.8, e.toString());
        }
    }

    private Path write(final String name, final String text) throws Exception
    {
        final Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }
}
